"""The Streamlit dashboard for quality controllers, team leads, analysts and operators."""

__all__: list[str] = []
