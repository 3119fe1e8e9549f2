"""Search engines' own figures per page: Google Search Console's Search Analytics and
Baidu Tongji's search words, imported through an analytics connection.

`models.py` the connection (secrets encrypted) and the imported rows; `google.py` and
`baidu.py` speak each documented API through channels.http; `importing.py` imports a
window of days idempotently and records the outcome; `admin_views.py` the connection
screen (Settings > Analytics connections) with Test connection and Import now.
"""
