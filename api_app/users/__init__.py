"""The signed-in user's own account: read it, change its password, delete it."""
