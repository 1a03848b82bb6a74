import reflex as rx

config = rx.Config(app_name="kbportal", show_built_with_reflex=False, telemetry_enabled=False)
