"""The chat UI (Chainlit) and the HTTP API, served from one process around one loaded Assistant.

Nothing here is imported by the core or by `careers-assistant ask`: Chainlit, FastAPI and SQLAlchemy
load only for `serve` and `unanswered`.
"""
