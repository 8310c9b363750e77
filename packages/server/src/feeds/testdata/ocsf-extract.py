#!/usr/bin/env python3
"""Writes ocsf-1.3.0-api-activity.json: what the OCSF test checks, taken from the OCSF schema.

Usage: ocsf-extract.py <ocsf-schema git directory> <tag> > ocsf-<tag>-api-activity.json
(the repository is https://github.com/ocsf/ocsf-schema; e.g. `git clone --bare` it first).

It resolves the API Activity class (events/application/api*.json, name api_activity) through its
`extends` chain and unconditional `includes/` files, and the objects the tlog mapping uses through
theirs. Attributes that only a profile adds (`profiles/*.json`) are left out: tlog's OCSF lines
apply no profile. For each attribute: its requirement, its type from dictionary.json, whether it is
an array, its enum (id -> caption) and its sibling (e.g. activity_id -> activity_name).
"""
import json
import subprocess
import sys

repo, tag = sys.argv[1], sys.argv[2]


def show(path):
    out = subprocess.run(['git', '-C', repo, 'show', f'{tag}:{path}'], check=True, capture_output=True).stdout
    return json.loads(out)


def files(prefix):
    out = subprocess.run(['git', '-C', repo, 'ls-tree', '-r', '--name-only', tag, prefix], check=True, capture_output=True, text=True).stdout
    return [p for p in out.split('\n') if p.endswith('.json')]


commit = subprocess.run(['git', '-C', repo, 'rev-list', '-n', '1', tag], check=True, capture_output=True, text=True).stdout.strip()
dictionary = show('dictionary.json')['attributes']
categories = show('categories.json')['attributes']
version = show('version.json')['version']
events = {}
for p in files('events/'):
    d = show(p)
    events[d['name']] = d
objects = {}
for p in files('objects/'):
    d = show(p)
    objects[d['name']] = d


def merge_attr(into, name, spec):
    cur = into.setdefault(name, {})
    for k, v in spec.items():
        if k == 'enum':
            cur.setdefault('enum', {}).update(v)
        else:
            cur[k] = v


def own_attributes(d):
    """The attributes a file defines, with its unconditional includes, none from profiles."""
    out = {}
    for name, spec in d.get('attributes', {}).items():
        if name == '$include':
            for inc in spec:
                if inc.startswith('profiles/'):
                    continue
                for n, s in show(inc)['attributes'].items():
                    merge_attr(out, n, s)
        else:
            merge_attr(out, name, spec)
    return out


def resolve(d, table):
    chain = []
    while d is not None:
        chain.append(d)
        d = table.get(d['extends']) if 'extends' in d else None
    attrs, constraints = {}, None
    for link in reversed(chain):
        for n, s in own_attributes(link).items():
            merge_attr(attrs, n, s)
        if 'constraints' in link:
            constraints = link['constraints']
    result = {}
    for n, s in sorted(attrs.items()):
        if s.get('profile') is not None:  # only with a profile applied
            continue
        entry = dictionary.get(n, {})
        enum = dict(entry.get('enum', {}))
        enum.update(s.get('enum', {}))
        out = {'requirement': s.get('requirement', 'optional'), 'type': entry.get('type')}
        if entry.get('is_array'):
            out['is_array'] = True
        if enum:
            out['enum'] = {k: v['caption'] for k, v in sorted(enum.items(), key=lambda kv: (not kv[0].lstrip('-').isdigit(), int(kv[0]) if kv[0].lstrip('-').isdigit() else 0, kv[0]))}
        if 'sibling' in entry:
            out['sibling'] = entry['sibling']
        result[n] = out
    return result, constraints


cls = events['api_activity']
category = next(d for d in [events[cls['extends']]] if 'category' in d)['category']
attrs, constraints = resolve(cls, events)
out = {
    'source': f'https://github.com/ocsf/ocsf-schema tag {tag} (commit {commit}), extracted by ocsf-extract.py',
    'version': version,
    'class': {
        'name': cls['name'],
        'caption': cls['caption'],
        'category_caption': categories[category]['caption'],
        'category_uid': categories[category]['uid'],
        'class_uid': categories[category]['uid'] * 1000 + cls['uid'],
        'attributes': attrs,
    },
    'objects': {},
}
for name in ['metadata', 'product', 'actor', 'user', 'api', 'request', 'network_endpoint', 'http_request', 'resource_details']:
    a, c = resolve(objects[name], objects)
    out['objects'][name] = {'attributes': a, **({'constraints': c} if c else {})}
json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
print()
