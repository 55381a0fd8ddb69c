"""The dashboard: server-rendered pages (Jinja2 and HTMX), static files vendored, no CDN.

Brand users see every provider; a provider user sees the same pages limited to itself.
"""
