"""Reflex configuration. kbportal's own settings come from KBPORTAL_* (kbportal/config.py)."""

import reflex as rx

config = rx.Config(
    app_name="kbportal",
    show_built_with_reflex=False,
    telemetry_enabled=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="inherit", accent_color="indigo", gray_color="slate", radius="medium")
        ),
        rx.plugins.SitemapPlugin(),
    ],
)
