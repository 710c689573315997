"""Reading CVAT XML streams: under an address-space limit (RLIMIT_AS) that the parsed tree of the
same file does not fit in, the reader still reads every image."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

IMAGES = 6_000
SHAPES = ('<box label="car" occluded="0" xtl="1.5" ytl="2" xbr="30" ybr="40"><attribute name="k">v</attribute>'
          '</box><polygon label="p" points="1,2;3,4;5,6;7,8;9,10;11,12"/>\n') * 8  # 16 annotations an image
MARGIN = 64 * 2**20  # bytes of address space allowed beyond the interpreter's after its imports

# reads the file either way after capping the address space at what the imports took plus MARGIN
CAPPED_READ = textwrap.dedent("""
    import re, resource, sys
    from lxml import etree
    from fastlabel_formats.formats.cvat import iter_cvat_tasks

    with open("/proc/self/status") as status:
        in_use = int(re.search(r"VmSize:\\s+(\\d+) kB", status.read()).group(1)) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (in_use + int(sys.argv[3]), resource.RLIM_INFINITY))
    try:
        if sys.argv[2] == "stream":
            print(sum(len(task["annotations"]) for task in iter_cvat_tasks(sys.argv[1])))
        else:
            print(len(etree.parse(sys.argv[1]).getroot()))
    except (MemoryError, etree.XMLSyntaxError):  # libxml2 out of memory is a syntax error of "unknown" kind
        print("out of memory")
""")


def capped_read(path: Path, how: str) -> str:
    environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # no thread stacks reserved
    done = subprocess.run([sys.executable, "-c", CAPPED_READ, str(path), how, str(MARGIN)], capture_output=True,
                          text=True, env=environment)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


@pytest.mark.skipif(not Path("/proc/self/status").is_file() or sys.platform != "linux",
                    reason="needs Linux /proc and RLIMIT_AS")
def test_a_file_whose_tree_does_not_fit_the_memory_limit_is_read_whole(tmp_path):
    path = tmp_path / "big.xml"
    with path.open("w") as stream:
        stream.write("<annotations><version>1.1</version><meta><task><labels/></task></meta>\n")
        for number in range(IMAGES):
            stream.write(f'<image id="{number}" name="i{number}.jpg" width="64" height="48">{SHAPES}</image>\n')
        stream.write("</annotations>\n")
    assert capped_read(path, "tree") == "out of memory"  # the limit binds: the whole tree does not fit
    assert capped_read(path, "stream") == str(IMAGES * 16)


def test_a_second_image_of_one_name_is_told_once_names_are_kept_on_disk(tmp_path, monkeypatch):
    from fastlabel_formats.formats import cvat
    from fastlabel_formats.formats.cvat import reader
    from fastlabel_formats.report import ConversionReport

    monkeypatch.setattr(reader, "IN_MEMORY_NAMES", 3)  # the fourth name moves them all to the SQLite table
    names = ["a.jpg", "b.jpg", "a.jpg", "c.jpg", "d.jpg", "b.jpg", "e.jpg", "d.jpg", "f.jpg"]
    path = tmp_path / "names.xml"
    path.write_text("<annotations>" + "".join(f'<image id="{number}" name="{name}" width="4" height="4"/>'
                                              for number, name in enumerate(names)) + "</annotations>")
    report = ConversionReport("cvat import")
    tasks = cvat.cvat_tasks(path, report=report)
    assert [task["name"] for task in tasks] == ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg", "f.jpg"]
    finding = report.findings["second CVAT image of one name, skipped"]
    assert finding.count == 3
    assert finding.examples == [f"{path}: image {name!r}" for name in ("a.jpg", "b.jpg", "d.jpg")]
