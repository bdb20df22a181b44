"""The JSON-LD of an HTML page as extruct reads it, for comparison with the
`schema-org` reader. Usage: jsonld.py FILE. Prints a JSON list of the items,
each block's array flattened, in page order."""
import json
import sys

import extruct

with open(sys.argv[1], "rb") as f:
    html = f.read()
print(json.dumps(extruct.extract(html, syntaxes=["json-ld"], uniform=False)["json-ld"]))
