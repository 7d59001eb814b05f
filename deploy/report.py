"""What a run changed and what it found already in place, so a second run can say "nothing changed"."""

from deploy.output import say


class Report:
    def __init__(self, dry_run: bool = False) -> None:
        self.changed: list[str] = []
        self.in_place: list[str] = []
        self.verb = "would change" if dry_run else "changed"

    def note(self, changed: bool, what: str) -> None:
        (self.changed if changed else self.in_place).append(what)
        say(f"    {self.verb if changed else 'already in place'}: {what}")

    def summary(self, undo: list[str] | None = None) -> None:
        say("--> summary")
        for what in self.changed:
            say(f"    {self.verb}: {what}")
        for what in self.in_place:
            say(f"    already in place: {what}")
        if not self.changed:
            say("    nothing changed: everything was already in place")
        for line in undo or []:
            say(f"    undo: {line}")
