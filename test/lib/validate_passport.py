#!/usr/bin/python3
"""Validate battledger passports against the BatteryPass 1.2 and Catena-X 6.1.0
JSON schemas (draft 4, with format checking), as Debian's python3-jsonschema does.

usage: validate_passport.py SCHEMA_DIR WITHHELD_JSON FILE...
Each FILE is one passport: NAME.TIER.FORMAT.json, FORMAT batterypass (an object
keyed by aspect model URN) or catenax.  Every schema error fails, except a
missing required property that the tier may not read (Art. 77(2)), listed in
WITHHELD_JSON per schema and tier, or one the file's battery is declared not to
have (FILE.absent: one "schema path" per line, or "*": it declared nothing).  Prints one line per document
and exits 1 if any document fails."""
import json, os, re, sys, datetime
import jsonschema

# python3-jsonschema checks "uri" with python3-rfc3987; Debian has no package for
# its "date-time" checker (rfc3339-validator), so RFC 3339 is checked here.
RFC3339 = re.compile(r'^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$')
checker = jsonschema.Draft4Validator.FORMAT_CHECKER
@checker.checks('date-time', raises=ValueError)
def is_datetime(s):
    if not isinstance(s, str):
        return True
    if not RFC3339.match(s):
        raise ValueError('not an RFC 3339 date-time')
    datetime.datetime.fromisoformat(s.replace('Z', '+00:00').replace('z', '+00:00'))
    return True
assert 'uri' in checker.checkers, 'install python3-rfc3987: without it "uri" is not checked'

SCHEMAS = {
    'urn:samm:io.BatteryPass.GeneralProductInformation:1.2.0#GeneralProductInformation': 'GeneralProductInformation-schema.json',
    'urn:samm:io.BatteryPass.Performance:1.2.0#PerformanceAndDurability': 'PerformanceAndDurability-schema.json',
    'urn:samm:io.BatteryPass.MaterialComposition:1.2.0#MaterialComposition': 'MaterialComposition-schema.json',
    'urn:samm:io.BatteryPass.Circularity:1.2.0#Circularity': 'Circularity-schema.json',
    'urn:samm:io.BatteryPass.CarbonFootprint:1.2.0#CarbonFootprintForBatteries': 'CarbonFootprintForBatteries-schema.json',
    'urn:samm:io.BatteryPass.SupplyChainDueDiligence:1.2.0#SupplyChainDueDiligence': 'SupplyChainDueDiligence-schema.json',
    'urn:samm:io.BatteryPass.Labels:1.2.0#Labeling': 'Labeling-schema.json',
    'catenax': 'catenax-BatteryPass-6.1.0-schema.json',
}

def path_of(error):
    parts = [('[]' if isinstance(p, int) else p) for p in error.absolute_path]
    return '.'.join(parts).replace('.[]', '[]')

def main():
    schema_dir, withheld_file = sys.argv[1], sys.argv[2]
    withheld = json.load(open(withheld_file))
    validators = {k: jsonschema.Draft4Validator(json.load(open(os.path.join(schema_dir, f))), format_checker=checker)
                  for k, f in SCHEMAS.items()}
    failed = 0
    for fname in sys.argv[3:]:
        name, tier, fmt = os.path.basename(fname)[:-5].rsplit('.', 2)
        doc = json.load(open(fname))
        absent = set()
        if os.path.exists(fname + '.absent'):
            absent = {l.strip() for l in open(fname + '.absent') if l.strip()}
        docs = [('catenax', doc)] if fmt == 'catenax' else sorted(doc.items())
        if fmt == 'batterypass' and set(doc) != set(SCHEMAS) - {'catenax'}:
            print(f'FAIL {name} {tier} {fmt}: aspects {sorted(doc)}'); failed += 1; continue
        for key, part in docs:
            short = key.split('#')[-1]
            errors, excused = [], []   # a required list reached through several $refs reports twice: keep one
            for e in validators[key].iter_errors(part):
                if e.validator == 'required':
                    for prop in e.validator_value:
                        if isinstance(e.instance, dict) and prop not in e.instance:
                            p = (path_of(e) + '.' if path_of(e) else '') + prop
                            why = ('tier' if p in withheld.get(short, {}).get(tier, [])
                                   else 'absent' if f'{short} {p}' in absent or '*' in absent else None)
                            (excused if why else errors).append(f'{p} ({why or "missing"})')
                else:
                    errors.append(f'{path_of(e) or "(root)"}: {e.message[:160]}')
            errors, excused = list(dict.fromkeys(errors)), list(dict.fromkeys(excused))
            if errors:
                failed += 1
                print(f'FAIL {name} {tier} {short}: ' + '; '.join(errors))
            else:
                print(f'ok   {name} {tier} {short}: valid' + (f', {len(excused)} required values withheld or absent: '
                                                             + ', '.join(excused) if excused else ''))
    sys.exit(1 if failed else 0)

main()
