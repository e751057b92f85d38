"""Placeholder: this area's routes arrive with its issue."""
from sanic import Blueprint

bp = Blueprint("export")
