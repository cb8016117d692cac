"""Sessions: DAW-exported stems on a timeline, rendered through chains to files."""

from soundstage.session.model import Session, SessionError, load_session
from soundstage.session.render import RenderResult, render_session

__all__ = ["RenderResult", "Session", "SessionError", "load_session", "render_session"]
