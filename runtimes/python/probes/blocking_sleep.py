"""time.sleep inside a coroutine blocks the event loop's thread, so no other task
runs meanwhile; await asyncio.sleep gives the loop back, and the others run."""

import asyncio
import time

ticks = 0


async def ticker() -> None:
    global ticks
    while True:
        ticks += 1
        await asyncio.sleep(0.01)


async def main() -> None:
    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # let the ticker start
    print("1 main: time.sleep(0.2) while a ticker task wants to run every 10 ms",
          flush=True)
    before = ticks
    time.sleep(0.2)
    print(f"2 main: the ticker ran {ticks - before} times during time.sleep", flush=True)
    print("3 main: await asyncio.sleep(0.2)", flush=True)
    before = ticks
    await asyncio.sleep(0.2)
    ran = "ran" if ticks > before else "did not run"
    print(f"4 main: the ticker {ran} during asyncio.sleep", flush=True)
    task.cancel()


asyncio.run(main())
