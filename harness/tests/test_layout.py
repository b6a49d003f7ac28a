"""README's Layout section names every file of the tree's folders, and no file that is gone."""
import os
import re
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FOLDERS = ("harness", "setup", "scripts", "guest", "tests")
IGNORED = {".git", "build", "__pycache__", ".gitignore", "README.md", "__init__.py"}


def layout_section(readme):
    m = re.search(r"^## Layout\n(.*?)^## ", readme, re.S | re.M)
    return m.group(1) if m else ""


def named(section):
    """Every word of the section that could be a file or folder name."""
    return set(re.findall(r"[\w.-]+/?", section))


def entries(top):
    """Top-level entries, then the entries of FOLDERS, folders with a trailing '/'."""
    def listed(d):
        return sorted(e + ("/" if os.path.isdir(os.path.join(d, e)) else "")
                      for e in os.listdir(d) if e not in IGNORED)
    out = [("", e) for e in listed(top)]
    for f in FOLDERS:
        out += [(f, e) for e in listed(os.path.join(top, f))]
    return out


def missing(top, section):
    words = named(section)
    return ["%s/%s" % (d, e) if d else e for d, e in entries(top)
            if e not in words and e.rstrip("/") not in words]


def stale(top, section):
    """Script names in the section that no folder holds (at any depth)."""
    have = {e for _, e in entries(top)}
    for f in FOLDERS:
        for _, _, files in os.walk(os.path.join(top, f)):
            have.update(files)
    return sorted(w for w in named(section)
                  if re.search(r"\.(sh|py)$", w) and w not in have)


class Layout(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(TOP, "README.md")) as f:
            self.section = layout_section(f.read())

    def test_section_exists(self):
        self.assertIn("harness/", self.section)

    def test_every_file_is_named(self):
        self.assertEqual(missing(TOP, self.section), [],
                         "README's Layout section does not name these")

    def test_no_stale_names(self):
        self.assertEqual(stale(TOP, self.section), [],
                         "README's Layout section names files that do not exist")

    def test_a_new_file_is_noticed(self):
        section = self.section.replace("kut.py", "kutt.py")
        self.assertIn("harness/kut.py", missing(TOP, section))
        self.assertIn("kutt.py", stale(TOP, section))


if __name__ == "__main__":
    unittest.main()
