"""`fab init`: detect the project in a folder, print the report, then write the files it lacks."""

from pathlib import Path

from deploy.adopt import deploy_check, files, report
from deploy.adopt.detect import detect
from deploy.output import say


def init(root: Path, force: str | None = None) -> None:
    """Everything is detected and every refusal made before the first file is written."""
    project = detect(root.resolve())
    plan = files.plan(project, force)
    issues = deploy_check.check(project, plan)
    for line in report.lines(project, plan, issues):
        say(line)
    files.write(project.root, plan.write)
    say("")
    say(f"Wrote {len(plan.write)} file(s); left {len(plan.kept)} alone." if plan.write else
        "Wrote nothing: every file exists (fab init --force FILE replaces one).")
