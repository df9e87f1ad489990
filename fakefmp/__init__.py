"""fakefmp package."""
