"""YAML documents that remember where each value came from.

The files people write — a gateway's configuration, the rule files — are validated by pydantic,
whose errors name a location such as ``("devices", 0, "pms5003", "port")``. A technician needs
the line in the file, so the document
is composed into PyYAML's node tree first (each node carries its start mark), constructed into
plain Python data from that same tree, and error locations are walked back down the tree.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import yaml


class YamlSyntaxError(ValueError):
    """The text is not one well-formed YAML document with unique mapping keys."""

    def __init__(self, line: int | None, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass(frozen=True, slots=True)
class Located:
    """Where an error location points in the document: a 1-based line and a readable path."""

    line: int | None
    field: str


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A parsed YAML document: its Python data and the node tree it was built from."""

    data: object
    root: yaml.Node | None

    def locate(self, loc: Sequence[int | str], *, tag_key: str = "type") -> Located:
        """Find the line of a pydantic error location and render it as ``devices[0].port``.

        Location parts that are not keys of the mapping they are looked up in, such as the tag
        pydantic inserts for a member of a discriminated union (``"pms5003"``), are skipped when
        a later part follows; a missing last part (a required field) points at its mapping.
        """
        node = self.root
        line = _line(node)
        path = ""
        for i, part in enumerate(loc):
            if isinstance(part, int):
                path += f"[{part}]"
                node = _item(node, part)
                line = _line(node) or line
                continue
            entry = _entry(node, part)
            if entry is None:
                is_tag = _scalar(_entry(node, tag_key)) == part
                if is_tag and i < len(loc) - 1:
                    continue  # the union member pydantic chose, not a key of the document
                path += f".{part}"
                node = None
                continue
            key, node = entry
            path += f".{part}"
            # a nested block starts on the line below its key; the key's line reads better
            line = _line(node) if isinstance(node, yaml.ScalarNode) else _line(key)
        return Located(line, path.lstrip(".") or "<document>")


def parse(text: str) -> YamlDocument:
    """Parse one YAML document with the safe loader, keeping its node tree.

    Raises:
        YamlSyntaxError: malformed YAML, several documents, or a repeated mapping key.
    """
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return YamlDocument(None, None)
        _check_unique_keys(root)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlSyntaxError(line, str(exc.problem or exc.context)) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(None, str(exc)) from None
    finally:
        loader.dispose()
    return YamlDocument(data, root)


def _check_unique_keys(node: yaml.Node) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = _scalar(key)
            if name is not None and name in seen:
                raise YamlSyntaxError(
                    _line(key), f"key {name!r} repeats the one on line {seen[name]}"
                )
            if name is not None:
                seen[name] = _line(key) or 0
            _check_unique_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_unique_keys(item)


def _item(node: yaml.Node | None, index: int) -> yaml.Node | None:
    if isinstance(node, yaml.SequenceNode) and 0 <= index < len(node.value):
        item: yaml.Node = node.value[index]
        return item
    return None


def _entry(node: yaml.Node | None, name: str) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if _scalar(key) == name:
                return key, value
    return None


def _scalar(node: yaml.Node | tuple[yaml.Node, yaml.Node] | None) -> str | None:
    if isinstance(node, tuple):
        node = node[1]  # a (key, value) entry: its value
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    return None


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None
