"""With asyncio.eager_task_factory (Python 3.12+), create_task runs the coroutine
at once, inside the call, until its first await; the rest waits for the loop."""

import asyncio
import platform
import sys

if sys.version_info < (3, 12):
    print(f"not applicable: Python {platform.python_version()} has no "
          "asyncio.eager_task_factory (3.12+); there create_task always waits for "
          "the loop's next turn", flush=True)
    sys.exit(77)


async def child() -> None:
    print("2 child: runs at once, inside create_task", flush=True)
    await asyncio.sleep(0)
    print("4 child: resumes at the loop's next turn", flush=True)


async def main() -> None:
    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
    print("1 main: create_task(child()) with the eager task factory", flush=True)
    task = asyncio.create_task(child())
    print("3 main: create_task returned; child is suspended at its first await", flush=True)
    await task
    print("5 main: after await task", flush=True)


asyncio.run(main())
