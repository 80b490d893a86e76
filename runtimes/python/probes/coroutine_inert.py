"""Calling a coroutine function runs none of its body: it returns a coroutine
object, which runs only when it is awaited or scheduled on an event loop."""

import asyncio


async def handler() -> str:
    print("3 handler: the body runs now, driven by the event loop", flush=True)
    return "done"


print("1 script: calling handler()", flush=True)
coroutine = handler()
print(f"2 script: got a {type(coroutine).__name__} object; its body has not run", flush=True)
result = asyncio.run(coroutine)
print(f"4 script: asyncio.run returned {result!r}", flush=True)
