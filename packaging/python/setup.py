# setup.py: the one thing pyproject.toml cannot say.  The wheel holds a
# compiled SQLite extension, which works with any Python 3 but only on the
# platform it was built for: a platform wheel (files at its root, not under
# purelib), tagged py3-none-<platform>, neither "any" nor a CPython ABI,
# since it is not a Python extension module.
from setuptools import setup
from setuptools.dist import Distribution

try:
    from wheel.bdist_wheel import bdist_wheel
except ImportError:  # without the wheel package there is no wheel to tag
    bdist_wheel = None


class PlatformDistribution(Distribution):
    def has_ext_modules(self):
        return True


cmdclass = {}
if bdist_wheel is not None:
    class PlatformWheel(bdist_wheel):
        def get_tag(self):
            return "py3", "none", super().get_tag()[2]

    cmdclass["bdist_wheel"] = PlatformWheel

setup(distclass=PlatformDistribution, cmdclass=cmdclass)
