"""A threading.Lock held across an await deadlocks the event loop when another
task wants it: acquire() blocks the loop's only thread, so the holder never
resumes to release it. (The lab's deadline ends this probe.)"""

import asyncio
import threading

lock = threading.Lock()


async def holder() -> None:
    with lock:
        print("2 holder: took the threading.Lock, awaits while holding it", flush=True)
        await asyncio.sleep(0.05)
        print("holder: released the lock (never printed)", flush=True)


async def waiter() -> None:
    print("3 waiter: lock.acquire() blocks the loop's thread", flush=True)
    with lock:
        print("waiter: got the lock (never printed)", flush=True)


async def main() -> None:
    print("1 main: start holder, then waiter", flush=True)
    await asyncio.gather(holder(), waiter())


asyncio.run(main())
