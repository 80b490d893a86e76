"""Routing, parameter validation, and the golden digests of runtimes/SPEC.md section 5."""

import json
import os
import unittest

from lab_server.app import App, Compute, Sleep, fnv_rounds, pbkdf2_hex
from lab_server.http import Reply, RequestParser

WORK_DIGESTS = {
    0: "811c9dc5",
    1: "050c5d1f",
    2: "1076963a",
    10: "2f854072",
    1_000: "a06ae7fd",
    65_536: "eea39dc5",
    1_000_000: "bbc1d705",
    10_000_000: "25be6645",
}
HASH_DIGESTS = {
    1: "3a1a5ef6f31e11c8e290238e8778a227fa4b7882853c4da4cd4db51f78d6119a",
    2: "4bedcef7faf4cc09ef6c2d31070ac31907eef715168bc5cf8086ee5a39a5a6a5",
    100: "0f01301d6cdb20b260d92d5fa7efaf3d8450685929fdb08c3a5ebdf3ae1a9955",
    1_000: "317bc7451809011cc269e2245efcaf6cabab80fab190ffbde0a3c90bff7f0600",
    10_000: "adeadd10710888bb60fd67da022cf7fcf1dd452f29cf23a912360342be8b29ca",
}

APP = App("select", knobs={"OFFLOAD_THREADS": 6}, offload="a pool", version="3.x")


def handle(target: str, method: str = "GET"):
    parser = RequestParser()
    parser.feed(f"{method} {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return APP.handle(parser.next())


def reply_of(target: str, method: str = "GET") -> Reply:
    action = handle(target, method)
    if isinstance(action, Compute):
        return action.work()
    if isinstance(action, Sleep):
        return action.reply
    return action


def body_of(target: str) -> dict:
    return json.loads(reply_of(target).body)


class GoldenDigests(unittest.TestCase):
    def test_work(self):
        for n, digest in WORK_DIGESTS.items():
            self.assertEqual(fnv_rounds(n), digest, n)

    def test_hash(self):
        for iterations, digest in HASH_DIGESTS.items():
            self.assertEqual(pbkdf2_hex(iterations), digest, iterations)

    def test_through_the_endpoints(self):
        self.assertEqual(
            body_of("/work?n=1000"), {"n": 1000, "digest": "a06ae7fd", "offload": False}
        )
        self.assertEqual(
            body_of("/hash?iter=2&offload=1"),
            {"iter": 2, "digest": HASH_DIGESTS[2], "offload": True},
        )


class Endpoints(unittest.TestCase):
    def test_ping(self):
        reply = reply_of("/ping")
        self.assertEqual((reply.status, reply.body), (200, b"pong"))
        self.assertTrue(reply.content_type.startswith("text/plain"))

    def test_info(self):
        info = body_of("/info")
        self.assertEqual(info["target"], "python/select")
        self.assertEqual((info["runtime"], info["model"]), ("python", "select"))
        self.assertEqual(info["pid"], os.getpid())
        self.assertIsNone(info["worker"])
        self.assertEqual(info["knobs"], {"OFFLOAD_THREADS": 6})
        self.assertEqual(info["offload"], "a pool")

    def test_actions(self):
        sleep = handle("/sleep?ms=250")
        self.assertIsInstance(sleep, Sleep)
        self.assertEqual(sleep.seconds, 0.25)
        self.assertEqual(json.loads(sleep.reply.body), {"ms": 250})
        cpu = handle("/cpu?ms=1&offload=1")
        self.assertIsInstance(cpu, Compute)
        self.assertTrue(cpu.offload)
        self.assertEqual(json.loads(cpu.work().body), {"ms": 1, "offload": True})
        self.assertFalse(handle("/work?n=1&offload=0").offload)
        self.assertFalse(handle("/hash?iter=1").offload)

    def test_routing(self):
        for target in ["/nope", "/ping/", "/PING", "/", "*"]:
            self.assertEqual(reply_of(target).status, 404, target)
        self.assertEqual(reply_of("/nope", "POST").status, 404)
        for method in ["POST", "PUT", "DELETE", "HEAD", "OPTIONS"]:
            reply = reply_of("/ping", method)
            self.assertEqual(reply.status, 405, method)
            self.assertIn(("Allow", "GET"), reply.headers)
            self.assertIn("error", json.loads(reply.body))


class Parameters(unittest.TestCase):
    def assert_bad(self, target: str, name: str) -> None:
        reply = reply_of(target)
        self.assertEqual(reply.status, 400, target)
        self.assertEqual(reply.content_type, "application/json")
        self.assertIn(f"'{name}'", json.loads(reply.body)["error"], target)

    def test_rejected(self):
        for target, name in [
            ("/cpu", "ms"),
            ("/cpu?ms", "ms"),
            ("/cpu?ms=", "ms"),
            ("/cpu?ms=-1", "ms"),
            ("/cpu?ms=+1", "ms"),
            ("/cpu?ms=%2B1", "ms"),
            ("/cpu?ms=1.0", "ms"),
            ("/cpu?ms=1e3", "ms"),
            ("/cpu?ms=0x10", "ms"),
            ("/cpu?ms=%201", "ms"),
            ("/cpu?ms=abc", "ms"),
            ("/cpu?ms=%D9%A1", "ms"),  # an Arabic-Indic digit one: not ASCII
            ("/cpu?ms=10001", "ms"),
            ("/cpu?ms=99999999999999999999999", "ms"),
            ("/cpu?ms=1&ms=1", "ms"),
            ("/cpu?ms=1&offload=2", "offload"),
            ("/cpu?ms=1&offload=", "offload"),
            ("/cpu?ms=1&offload=true", "offload"),
            ("/cpu?ms=1&offload=0&offload=1", "offload"),
            ("/sleep?ms=10001", "ms"),
            ("/sleep", "ms"),
            ("/work?n=100000001", "n"),
            ("/work", "n"),
            ("/work?N=5", "n"),
            ("/hash?iter=0", "iter"),
            ("/hash?iter=1000001", "iter"),
            ("/hash", "iter"),
            ("/hash?iter=" + "9" * 5000, "iter"),
            # form-urlencoded: '+' is a space, an invalid escape stays as it is
            ("/work?n=5+", "n"),
            ("/work?n=%zz", "n"),
            ("/work?n=%3", "n"),
            ("/work?n=5%", "n"),
            ("/work?n=5&n=%zz", "n"),
        ]:
            self.assert_bad(target, name)

    def test_accepted(self):
        self.assertEqual(body_of("/sleep?ms=007"), {"ms": 7})
        self.assertEqual(body_of("/sleep?ms=0&unknown=1&x"), {"ms": 0})
        self.assertEqual(body_of("/sleep?ms=10000"), {"ms": 10000})
        self.assertEqual(body_of("/cpu?ms=0&offload=01"), {"ms": 0, "offload": True})
        self.assertEqual(body_of("/work?n=0000000000000000000002")["digest"], "1076963a")
        self.assertEqual(handle("/work?n=100000000").offload, False)
        self.assertEqual(body_of("/hash?iter=1&offload=0")["offload"], False)
        self.assertEqual(body_of("/cpu?ms=%31%30&offload=%31"), {"ms": 10, "offload": True})
        self.assertEqual(body_of("/work?%6E=2&x=%zz&%zz=1")["digest"], "1076963a")


if __name__ == "__main__":
    unittest.main()
