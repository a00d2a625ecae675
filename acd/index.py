"""Available agents as bitsets, so that matching a call costs a few integer ANDs.

Why bitsets: a routing step must stay well under 1 ms for 500 agents and 300
waiting calls in pure Python. Scanning agents per call would be
O(calls x agents) interpreted loops; instead each available agent gets one
bit, and every question the router asks ("who speaks Korean, serves the
province line and has social_insurance >= 3, and is still free?") becomes an
AND of a handful of Python ints, which CPython does in C.

Bit order is the agents' *fairness order*: bit 0 is the agent who should get
the next call among equals (longest idle, adjusted for shift occupancy; see
``Tuning.occupancy_weight``). So "the fairest agent in a mask" is simply its
lowest set bit, and no per-call sort is ever needed.

The index also groups the agents by how many languages they speak
(``narrow_to_fewest_languages``), for the rule "multilingual seats last among
equals" (``QueuePolicy.multilingual_last``): the groups are read off the
per-language-set masks that are built anyway, so the rule costs one or two
ANDs per decision.

Only available agents are indexed; the index is built once per ``route()``
call and never mutated afterwards (per-skill-set masks are memoised).
"""

from __future__ import annotations

from collections.abc import Iterable

from acd.model import MAX_LEVEL, Agent, Tuning

# Levels scanned from best to worst when looking for the best match.
_LEVELS_DOWN = tuple(range(MAX_LEVEL, 0, -1))


def lowest_bit(mask: int) -> int:
    """Position of the lowest set bit of a non-zero ``mask``."""
    return (mask & -mask).bit_length() - 1


def fairness_key(agent: Agent, tuning: Tuning) -> tuple[float, float, str]:
    """Sort key of agents among equally skilled ones: smallest goes first.

    ``idle_since + occupancy_weight * busy_seconds``: the longest idle agent
    first, but an agent who has been busier this shift counts as idle for a
    little less time. Ties go to the less busy, then the smaller id, so the
    order never depends on input order.
    """
    return (agent.idle_since + tuning.occupancy_weight * agent.busy_seconds, agent.busy_seconds, agent.agent_id)


class AgentIndex:
    """Bitset index of the available agents of a snapshot (see module doc)."""

    __slots__ = ("ids", "bit_of", "full", "_lang", "_queue", "_all_queues", "_exact", "_levels", "_breadth")

    def __init__(self, agents: Iterable[Agent], tuning: Tuning) -> None:
        weight = tuning.occupancy_weight  # fairness_key, inlined: this runs on every routing step
        ordered = sorted(
            (a for a in agents if a.available),
            key=lambda a: (a.idle_since + weight * a.busy_seconds, a.busy_seconds, a.agent_id),
        )
        self.ids: tuple[str, ...] = tuple(a.agent_id for a in ordered)
        self.bit_of: dict[str, int] = {agent_id: i for i, agent_id in enumerate(self.ids)}
        self.full: int = (1 << len(ordered)) - 1
        self._lang: dict[str, int] = {}
        self._queue: dict[str, int] = {}
        self._exact: dict[tuple[str, int], int] = {}  # (skill, level) -> agents at exactly that level
        self._levels: dict[frozenset[str], tuple[int, ...]] = {}
        # agents by number of languages spoken, fewest first: one mask per count present
        self._breadth: tuple[int, ...] = ()
        self._all_queues = self._fill(ordered)

    def _fill(self, ordered: list[Agent]) -> int:
        """Set every agent's bit in the language, queue, skill and language-count masks.

        The hottest part of building the index, hence one flat loop with
        local names, and languages and queues grouped by their (hash-cached)
        frozensets first: most agents share ``{"zh"}`` and "all queues".
        Returns the mask of agents serving every queue.
        """
        by_languages: dict[frozenset[str], int] = {}
        by_queues: dict[frozenset[str], int] = {}
        exact = self._exact
        flag = 1
        for agent in ordered:
            by_languages[agent.languages] = by_languages.get(agent.languages, 0) | flag
            by_queues[agent.queues] = by_queues.get(agent.queues, 0) | flag
            for pair in agent.skills:
                exact[pair] = exact.get(pair, 0) | flag
            flag <<= 1
        _spread(by_languages, self._lang)
        by_count: dict[int, int] = {}
        for languages, mask in by_languages.items():
            by_count[len(languages)] = by_count.get(len(languages), 0) | mask
        self._breadth = tuple(by_count[count] for count in sorted(by_count))
        all_queues = by_queues.pop(frozenset(), 0)
        _spread(by_queues, self._queue)
        return all_queues

    def __len__(self) -> int:
        return len(self.ids)

    def speaking(self, language: str) -> int:
        """Agents who speak ``language`` (the hard requirement)."""
        return self._lang.get(language, 0)

    def serving(self, queue: str) -> int:
        """Agents who take calls of ``queue`` (members plus agents serving all)."""
        return self._queue.get(queue, 0) | self._all_queues

    def bits(self, agent_ids: Iterable[str]) -> int:
        """Mask of the given agents; ids of unavailable agents are ignored."""
        mask = 0
        for agent_id in agent_ids:
            bit = self.bit_of.get(agent_id)
            if bit is not None:
                mask |= 1 << bit
        return mask

    def levels(self, skills: frozenset[str]) -> tuple[int, ...]:
        """``levels(s)[L]``: agents holding every skill of ``s`` at level >= L.

        ``[0]`` is every available agent (no requirement); memoised per set.
        """
        cached = self._levels.get(skills)
        if cached is None:
            cached = self._levels[skills] = self._compute_levels(skills)
        return cached

    def _compute_levels(self, skills: frozenset[str]) -> tuple[int, ...]:
        masks = [self.full] * (MAX_LEVEL + 1)
        for skill in skills:
            at_least = self._at_least(skill)
            masks = [m & s for m, s in zip(masks, at_least)]
        return tuple(masks)

    def _at_least(self, skill: str) -> list[int]:
        at_least = [self.full] + [0] * MAX_LEVEL
        running = 0
        for level in _LEVELS_DOWN:
            running |= self._exact.get((skill, level), 0)
            at_least[level] = running
        return at_least

    def narrow_to_best(self, mask: int, skills: frozenset[str]) -> int:
        """Keep, within ``mask``, only the agents with the best common level in ``skills``.

        Returns ``mask`` unchanged when nobody in it holds all the skills.
        """
        if not skills:
            return mask
        levels = self.levels(skills)
        for level in _LEVELS_DOWN:
            best = mask & levels[level]
            if best:
                return best
        return mask

    def narrow_to_fewest_languages(self, mask: int) -> int:
        """Keep, within ``mask``, only the agents who speak the fewest languages.

        The count is of each agent's own languages (``Agent.languages``), whatever the
        call's. Returns ``mask`` unchanged when it is empty or all its agents speak
        equally many.
        """
        for same_count in self._breadth:
            fewest = mask & same_count
            if fewest:
                return fewest
        return mask

    def match_level(self, bit: int, skills: frozenset[str]) -> int:
        """Highest level that agent ``bit`` holds in every skill of ``skills`` (0 if none)."""
        if not skills:
            return 0
        levels = self.levels(skills)
        flag = 1 << bit
        for level in _LEVELS_DOWN:
            if levels[level] & flag:
                return level
        return 0


def _spread(by_set: dict[frozenset[str], int], into: dict[str, int]) -> None:
    """OR each set's mask into the mask of every member of the set."""
    for members, mask in by_set.items():
        for name in members:
            into[name] = into.get(name, 0) | mask
