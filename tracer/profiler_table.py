"""The profiler's text table in PyTorch's layout (torch.autograd.profiler_util's table):
a right-aligned column per figure, two spaces between columns, dashed rules above and
below the header and at the end, then `Self CPU time total: ...`.

The name column is as wide as the longest key plus 4, at most max_name_column_width
(longer names cut to that less 3, with "..."); every figure column is 12 wide; an
"Input Shapes" column appears when some row has input shapes (key_averages grouped
by them).  Percentages are of the sum of the rows' self CPU times.
"""
from __future__ import annotations



def format_time(us: float) -> str:
    """PyTorch's unit choice: s from a second, ms from a millisecond, else us."""
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"

_WIDTH = 12
_GAP = 2
_HEADERS = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]


def _share(us: float, total: float) -> str:
    return "NaN" if total == 0 else f"{us * 100.0 / total:.2f}%"


def _time(us: float, unit) -> str:
    scale = {"s": 1e6, "ms": 1e3, "us": 1.0}.get(unit)
    return format_time(us) if scale is None else f"{us / scale:.3f}{unit}"


def build_table(events, sort_by=None, row_limit=100, header=None, max_name_column_width=55,
                max_shapes_column_width=80, top_level_events_only=False,
                time_unit=None) -> str:
    if len(events) == 0:
        return ""
    events = list(events)
    if sort_by is not None:
        attr = sort_by.replace("cuda", "device").replace("xpu", "device")
        events.sort(key=lambda e: getattr(e, attr), reverse=True)
    name_width = max(len(e.key) for e in events) + 4
    if max_name_column_width is not None:
        name_width = min(name_width, max_name_column_width)
    widths = [name_width] + [_WIDTH] * len(_HEADERS)
    headers = ["Name"] + _HEADERS
    with_shapes = any(e.input_shapes for e in events)
    if with_shapes:
        shapes_width = max(len(str(e.input_shapes)) for e in events) + 4
        if max_shapes_column_width is not None:
            shapes_width = min(shapes_width, max_shapes_column_width)
        widths.append(shapes_width)
        headers.append("Input Shapes")
    rule = "".join("-" * w + " " * _GAP for w in widths)
    line_length = sum(w + _GAP for w in widths) - _GAP

    def row(values) -> str:
        return "".join(f"{str(v):>{w}}" + " " * _GAP for v, w in zip(values, widths))

    total = sum(e.self_cpu_time_total for e in events)
    lines = []
    if header is not None:
        lines += ["=" * line_length, header]
    if top_level_events_only:
        lines += ["=" * line_length, "This report only display top-level ops statistics"]
    lines += [rule, row(headers), rule]
    shown = 0
    for e in events:
        if shown == row_limit:
            break
        if top_level_events_only and e.cpu_parent is not None:
            continue
        shown += 1
        name = e.key
        if max_name_column_width is not None and len(name) >= max_name_column_width - 3:
            name = name[:max_name_column_width - 3] + "..."
        values = [name, _share(e.self_cpu_time_total, total), _time(e.self_cpu_time_total, time_unit),
                  _share(e.cpu_time_total, total), _time(e.cpu_time_total, time_unit),
                  _time(e.cpu_time, time_unit), e.count]
        if with_shapes:
            values.append(str(e.input_shapes)[:widths[-1]])
        lines.append(row(values))
    lines += [rule, f"Self CPU time total: {_time(total, time_unit)}"]
    return "\n".join(lines) + "\n"
