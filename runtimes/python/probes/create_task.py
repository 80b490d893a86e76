"""asyncio.create_task schedules a coroutine for the loop's next turn: it starts
only when the task that created it gives the loop back at an await."""

import asyncio


async def child() -> None:
    print("3 child: starts once main awaits", flush=True)


async def main() -> None:
    print("1 main: create_task(child())", flush=True)
    task = asyncio.create_task(child())
    print("2 main: create_task returned; child has not started", flush=True)
    await task
    print("4 main: after await task", flush=True)


asyncio.run(main())
