# pytester drives the plugin in-process for tests/plugin.
pytest_plugins = ["pytester"]
