"""One module per scenario; each has `run(context) -> ScenarioReport` and may raise
`ScenarioUnavailableError` when the endpoints it measures are not there yet."""
