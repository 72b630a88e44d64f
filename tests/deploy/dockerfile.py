"""A small, strict reader of our Dockerfile, for static checks (no Docker engine here).

Owns: splitting a Dockerfile into stages and instructions (comments, parser directives and
backslash continuations handled; JSON exec form decoded). Must never build anything.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import attrs


@attrs.frozen(kw_only=True)
class Instruction:
    keyword: str
    """Upper-cased instruction, e.g. ``COPY``."""
    arguments: str
    """The rest of the logical line, continuations joined."""
    line: int

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction, or None for the shell form."""
        text = self.arguments.strip()
        if not text.startswith("["):
            return None
        value = json.loads(text)
        assert isinstance(value, list)
        assert all(isinstance(item, str) for item in value)
        return value

    def words(self) -> list[str]:
        return shlex.split(self.arguments)


@attrs.frozen(kw_only=True)
class Stage:
    name: str
    base: str
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


@attrs.frozen(kw_only=True)
class Dockerfile:
    global_args: dict[str, str]
    stages: tuple[Stage, ...]

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def lineage(self, name: str) -> list[Stage]:
        """The stage, the stages it is built FROM, and those it copies from (recursively)."""
        seen: list[Stage] = []
        pending = [name]
        while pending:
            current = self.stage(pending.pop())
            if current in seen:
                continue
            seen.append(current)
            if current.base in {s.name for s in self.stages}:
                pending.append(current.base)
            for copy in current.all("COPY"):
                source = copy_from(copy)
                if source is not None:
                    pending.append(source)
        return seen


def copy_from(instruction: Instruction) -> str | None:
    for word in instruction.words():
        if word.startswith("--from="):
            return word.removeprefix("--from=")
    return None


def copy_sources(instruction: Instruction) -> list[str]:
    """The source paths of a COPY (all words but flags and the destination)."""
    words = [w for w in instruction.words() if not w.startswith("--")]
    return words[:-1]


def parse(path: Path) -> Dockerfile:
    logical: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continuation are dropped, as Docker does
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append((start, pending + stripped))
        pending = ""
    assert not pending, "dangling line continuation at end of file"

    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    current: tuple[str, str] | None = None
    body: list[Instruction] = []
    for number, text in logical:
        keyword, _, arguments = text.partition(" ")
        instruction = Instruction(keyword=keyword.upper(), arguments=arguments.strip(),
                                  line=number)
        if instruction.keyword == "FROM":
            if current is not None:
                stages.append(Stage(name=current[0], base=current[1], instructions=tuple(body)))
            words = instruction.words()
            words = [w for w in words if not w.startswith("--")]
            assert len(words) == 3, f"line {number}: every stage must be named (FROM x AS y)"
            assert words[1].upper() == "AS"
            current = (words[2], words[0])
            body = []
        elif current is None:
            assert instruction.keyword == "ARG", f"line {number}: only ARG may precede FROM"
            name, _, default = instruction.arguments.partition("=")
            global_args[name.strip()] = default.strip()
        else:
            body.append(instruction)
    assert current is not None, "no FROM"
    stages.append(Stage(name=current[0], base=current[1], instructions=tuple(body)))
    return Dockerfile(global_args=global_args, stages=tuple(stages))
