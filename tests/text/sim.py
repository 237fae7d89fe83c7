"""A room of text replicas with a lossy, reordering network and disconnections (seeded)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from vrdiplomacy.text.core import TextCore

WORDS = ["shall", "may", "urges", "all States", "fisheries", "notes", "with concern", ",", "é", "🌊"]


@dataclass
class Net:
    cores: dict[str, TextCore]
    rng: random.Random
    online: dict[str, bool] = field(default_factory=dict)
    inflight: list[tuple[str, str, bytes]] = field(default_factory=list)  # (to, sender, payload)

    def __post_init__(self) -> None:
        self.online = {n: True for n in self.cores}

    def flush_out(self, name: str) -> None:
        for _stream, payload in self.cores[name].data_to_send():
            if self.online[name]:  # what a disconnected replica sends is lost
                self.inflight.extend((to, name, payload) for to in self.cores if self.online[to])

    def deliver_one(self) -> None:
        to, sender, payload = self.inflight.pop(self.rng.randrange(len(self.inflight)))
        if self.online[to]:
            self.cores[to].receive(payload, sender, 0.0)
            self.flush_out(to)

    def disconnect(self, name: str) -> None:
        self.online[name] = False
        self.inflight = [m for m in self.inflight if m[0] != name]

    def reconnect(self, name: str) -> None:
        self.online[name] = True
        self.cores[name].resync()
        self.flush_out(name)

    def random_edit(self, name: str, doc: str = "draft") -> None:
        c, rng = self.cores[name], self.rng
        d = c.doc(doc)
        n = len(d.text())
        roll = rng.random()
        if roll < 0.55 or n < 4:
            c.insert(doc, rng.randint(0, n), rng.choice(WORDS) + " ")
        elif roll < 0.8:
            a = rng.randrange(n)
            c.delete(doc, a, min(n, a + rng.randint(1, 6)))
        elif roll < 0.92:
            a = rng.randrange(n - 1)
            b = min(n, a + rng.randint(1, 12))
            if not any(x.start < b and a < x.end for x in d.brackets()):
                c.bracket(doc, a, b)
        else:
            mine = [x for x in d.brackets() if x.owner == name]
            if mine:
                c.resolve(doc, rng.choice(mine).id, keep=rng.random() < 0.7)
        self.flush_out(name)

    def settle(self) -> None:
        for n in self.cores:
            if not self.online[n]:
                self.reconnect(n)
        while self.inflight:
            self.deliver_one()


def run(seed: int, steps: int = 120, names: tuple[str, ...] = ("France", "Germany", "Brazil")) -> Net:
    rng = random.Random(seed)
    cores = {n: TextCore(n, lambda s: s in names) for n in names}
    net = Net(cores, rng)
    cores[names[0]].insert("draft", 0, "The General Assembly urges all States to protect fisheries. ")
    net.flush_out(names[0])
    net.settle()
    for _ in range(steps):
        r = rng.random()
        name = rng.choice(names)
        if r < 0.45:
            net.random_edit(name)
        elif r < 0.85 and net.inflight:
            net.deliver_one()
        elif r < 0.93:
            if net.online[name] and sum(net.online.values()) > 1:
                net.disconnect(name)
        elif not net.online[name]:
            net.reconnect(name)
    net.settle()
    return net
