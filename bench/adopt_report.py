"""The adopt section of a benchmark report: each kind of project from `init` to serving, against the blog."""

from bench.tables import table

COLUMNS = (("init_s", "init s"), ("bootstrap_s", "bootstrap s"), ("first_deploy_s", "first deploy s"),
           ("serving_s", "init->serving s"), ("image_mb", "image MB"), ("redeploy_s", "code-only redeploy s"))


def lines(section: dict) -> list[str]:
    """The measured table, the ratios to the blog's, the base images' copy, and each project that failed."""
    rows = section.get("rows", [])
    done = [row for row in rows if "error" not in row]
    parts = ["", f"## from init to serving, per kind of project ({section.get('server', 'a fresh server each')})",
             table(["kind", *(title for _, title in COLUMNS)], [[row["kind"], *(row.get(key) for key, _ in COLUMNS)]
                                                                  for row in done])]
    ratios = [key for key, _ in COLUMNS if key != "init_s"]
    parts += ["", "## ratio to the blog's (same run)",
              table(["kind", *(title.removesuffix(" s") for key, title in COLUMNS if key in ratios)],
                    [[row["kind"], *(_ratio(row.get("ratios", {}).get(key)) for key in ratios)] for row in done])]
    copies = [f"{row['kind']} {row['base_images_copy_s']}s" for row in done if row.get("base_images_copy_s")]
    if copies:
        parts += ["base images copied in after bootstrap (no registry here; not in init->serving): "
                  + ", ".join(copies)]
    parts += [f"adopt: {row['kind']} FAILED: {row['error']}" for row in rows if "error" in row]
    return parts


def _ratio(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"
