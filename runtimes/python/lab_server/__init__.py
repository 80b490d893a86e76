"""The Async Runtime Lab's Python servers: one HTTP contract, ten server models.

Shared layer, with no model-specific waiting in it:
    http.py      incremental request parser and response writer
    app.py       the endpoints; they return what to do (reply, sleep, compute), never wait
    process.py   knobs, listening socket, start-up line, signals, exit deadline
    blocking.py  serving a connection with blocking calls (thread and process models)
    reactor.py   what the select/poll/epoll reactors share (timers, offload, buffers)

One model per file in models/, each a lesson of its own: start with its header comment.
"""
