"""Printing a benchmark's figures as an aligned text table."""


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Print `rows` under `header`, columns padded to their widest cell."""
    widths = [max(len(header[col]), *(len(row[col]) for row in rows)) for col in range(len(header))]
    print(" | ".join(cell.ljust(widths[col]) for col, cell in enumerate(header)))
    print("-+-".join("-" * width for width in widths))
    for row in rows:
        print(" | ".join(cell.ljust(widths[col]) for col, cell in enumerate(row)).rstrip(" |"))
