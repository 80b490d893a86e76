"""An asyncio.Lock held across an await is fine: a task that wants it awaits,
giving the loop back, so the holder resumes and releases it."""

import asyncio

lock = asyncio.Lock()


async def holder() -> None:
    async with lock:
        print("2 holder: took the asyncio.Lock, awaits while holding it", flush=True)
        await asyncio.sleep(0.05)
        print("4 holder: releases the lock", flush=True)


async def waiter() -> None:
    print("3 waiter: awaits the lock; the loop keeps running", flush=True)
    async with lock:
        print("5 waiter: got the lock", flush=True)


async def main() -> None:
    print("1 main: start holder, then waiter", flush=True)
    await asyncio.gather(holder(), waiter())
    print("6 main: both finished", flush=True)


asyncio.run(main())
