"""Flask extensions of api_app, created unbound and initialised in create_app()."""

from flask_jwt_extended import JWTManager

from service_kit.database import new_database

db = new_database()
jwt = JWTManager()
