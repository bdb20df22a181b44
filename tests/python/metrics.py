"""Reads a Prometheus text exposition with the Prometheus project's own Python
client (`prometheus_client.parser`) and prints every sample it understood as
one JSON object, for tests/metrics.rs:

    {"families": [{"name", "type", "samples": [{"name", "labels", "value"}]}]}

    python3 metrics.py metrics.txt

Exits 2 when the text cannot be parsed, 3 when the package is not installed
(`pip install -r requirements.txt`).
"""

import json
import sys


def main():
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        print("prometheus_client is not installed", file=sys.stderr)
        sys.exit(3)
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    try:
        families = [
            {
                "name": fam.name,
                "type": fam.type,
                "samples": [
                    {"name": s.name, "labels": s.labels, "value": s.value}
                    for s in fam.samples
                ],
            }
            for fam in text_string_to_metric_families(text)
        ]
    except Exception as e:  # the parser raises ValueError and others
        print(f"not a Prometheus text exposition: {e}", file=sys.stderr)
        sys.exit(2)
    json.dump({"families": families}, sys.stdout)


main()
