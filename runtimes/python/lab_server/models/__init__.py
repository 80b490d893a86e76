"""One module per server model; run one with `python -m lab_server.models.<module>`.

fork.py            python/fork        fork() per connection
prefork.py         python/prefork     WORKERS processes accept() on one socket
threaded.py        python/threaded    a thread per connection
threadpool.py      python/threadpool  WORKERS pre-started threads
select_reactor.py  python/select      select() reactor
poll_reactor.py    python/poll        poll() reactor
epoll_lt.py        python/epoll-lt    epoll, level-triggered
epoll_et.py        python/epoll-et    epoll, edge-triggered
asyncio_server.py  python/asyncio     asyncio streams on the default event loop
uvloop_server.py   python/uvloop      the same code on uvloop
"""
