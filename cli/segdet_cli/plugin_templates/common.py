"""Files every generated distribution has: pyproject.toml, README.md, the package __init__."""
from __future__ import annotations

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "${dist}"
version = "0.1.0"
description = "${cls}: ${summary}"
readme = "README.md"
requires-python = ">=3.9"
dependencies = [${dependencies}]

[project.optional-dependencies]
test = ["pytest>=7"]

[tool.setuptools.packages.find]
include = ["${pkg}*"]

[tool.setuptools.package-data]
${pkg} = ["py.typed"]

# The segdet plugin API this distribution was written for: a 1.x core runs a "1.0" plugin.
[project.entry-points."segdet.plugin_api"]
"1.0" = "${pkg}"

# Registration: segdet finds ${cls} here, without importing it, once this is pip-installed.
[project.entry-points."segdet.${group}"]
${cls} = "${pkg}.${module}:${cls}"

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

INIT = '''\
"""${dist}: ${summary}"""
from __future__ import annotations

from .${module} import ${cls}

__all__ = ["${cls}"]
'''

README = '''\
# ${dist}

`${cls}` (group `segdet.${group}`): ${summary}

Made with `segdet new-plugin ${kind} ${name}`; see segdet's docs/PLUGINS.md.

## Install and test

    pip install ./${name}          # or: pip install -e ./${name}
    pytest ${name}                 # the contract suite (segdet.testing) and this component's own tests
    segdet list-components --group ${group}
    segdet show-component ${cls} --group ${group}

## Use

${usage}
## Layout

    ${name}/
      pyproject.toml            entry points: segdet.${group} -> ${cls}; segdet.plugin_api "1.0"
      ${pkg}/${module}.py       the component (imports from segdet only through segdet.api)
      ${pkg}/py.typed
      tests/test_${module}.py   contract checks (segdet_component fixture) and behaviour tests

## Publish

    python -m build ${name}        # a wheel and an sdist in ${name}/dist/
    twine upload ${name}/dist/*
'''
