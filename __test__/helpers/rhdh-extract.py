"""Extract one plugin from an OCI layer as RHDH's install-dynamic-plugins.py does.

Usage: rhdh-extract.py <layer blob> <plugin path> <destination> <max entry size>

Same rules as the installer (1.9/1.10): tarfile 'r:*', keep members whose
name starts with the plugin path (raw prefix), refuse entries over the size
limit, skip links that resolve outside the plugin path, extractall with the
'data' filter. Prints the kept member names as JSON on the last line.
"""
import json
import os
import sys
import tarfile

layer, plugin_path, destination, max_entry_size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

with tarfile.open(layer, 'r:*') as tar:
    members = []
    for member in tar.getmembers():
        if not member.name.startswith(plugin_path):
            continue
        if member.size > max_entry_size:
            sys.exit('Zip bomb detected in ' + member.name)
        if member.islnk() or member.issym():
            real = os.path.realpath(os.path.join(plugin_path, *os.path.split(member.linkname)))
            if not real.startswith(plugin_path):
                print('WARNING: skipping file containing link outside of the archive: ' + member.name)
                continue
        members.append(member)
    tar.extractall(os.path.abspath(destination), members=members, filter='data')

print(json.dumps([m.name for m in members]))
