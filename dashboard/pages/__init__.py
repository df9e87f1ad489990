"""The dashboard pages: each registers itself with dash.register_page and owns its callbacks."""
