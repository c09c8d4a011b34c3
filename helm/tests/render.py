"""Lints and renders the chart with the real Helm SDK (PyPI helm-python-sdk) and prints JSON:
{"lint": report, "manifests": {template: [documents]}} or {"error": message}.
Usage: render.py CHART_DIR [VALUES_JSON]. Used by tests/helm_chart.rs."""
import json
import sys

import yaml
from helm_python import chart

chart_dir = sys.argv[1]
values = json.loads(sys.argv[2]) if len(sys.argv) > 2 else None
report = chart.lint(chart_dir, values, strict=True)
try:
    rendered = chart.Chart.load(chart_dir).render(values, name="canvass", namespace="video")
except Exception as e:  # a template's `required` or a bad value: the test reads the message
    print(json.dumps({"lint": report, "error": str(e)}))
    sys.exit(0)
manifests = {
    path: [doc for doc in yaml.safe_load_all(text) if doc]
    for path, text in rendered.items()
    if path.endswith(".yaml")
}
print(json.dumps({"lint": report, "manifests": manifests}))
