"""Write libgluvirt's man pages.

    make-man.py OUT VERSION header HEADER.h PAGE SEE_ALSO...
        section 3, from the comments and declarations of a public header
    make-man.py OUT VERSION command GLUVIRT TEMPLATE.scd
        section 1, TEMPLATE with @COMMANDS@ replaced by the usage text of
        every subcommand (gluvirt COMMAND --help)
    make-man.py OUT VERSION page TEMPLATE.scd
        TEMPLATE as it is (@VERSION@ replaced)
    make-man.py DIR VERSION functions SYMBOLS.sym HEADER.h...
        section 3, one page per exported function (docs/function_pages.py)
        into DIR, ".so" links for functions that share a page; pages of
        functions that are gone are removed

The pages are written in scdoc(5) and turned into roff by scdoc.  Without
scdoc, OUT becomes a short page that says where the text is.
"""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import function_pages  # noqa: E402
import header_api  # noqa: E402

WIDTH = 78  # of literal blocks


def escape(text):
    """Prose for scdoc: its markup characters taken literally."""
    text = text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")
    return text


def literal(lines):
    lines = [line.rstrip() for line in lines]
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    body = "\n".join(line[cut:] for line in lines).replace("\\", "\\\\")
    return "```\n" + body + "\n```"


def paragraphs(comment):
    """A header comment as scdoc blocks: prose is reflowed, indented lines
    (tables, syntax, lists) are kept as they are."""
    out = []
    for block in re.split(r"\n\s*\n", comment.strip("\n")):
        # runs of unindented lines (prose) and of indented ones (literal)
        run, indented = [], None
        for line in block.split("\n") + [None]:
            kind = None if line is None else line[:1].isspace()
            if run and kind != indented:
                out.append(literal(run) if indented else escape(" ".join(l.strip() for l in run)))
                run = []
            if line is not None:
                run.append(line)
                indented = kind
    return out


def wrap_declaration(text):
    """One declaration, its parameters wrapped under the opening parenthesis."""
    text = re.sub(r"\s+", " ", text.replace("GLUVIRT_API ", "")).strip()
    if len(text) <= WIDTH or "(" not in text:
        return text
    head, rest = text.split("(", 1)
    indent = " " * (len(head) + 1)
    parts = [p.strip() for p in rest.split(",")]
    lines, current = [], head + "("
    for i, part in enumerate(parts):
        piece = part + ("," if i < len(parts) - 1 else "")
        if len(current) + len(piece) + 1 > WIDTH and current.strip() and not current.endswith("("):
            lines.append(current.rstrip())
            current = indent
        current += piece + " "
    lines.append(current.rstrip())
    return "\n".join(lines)


def render_item(item):
    if isinstance(item, header_api.Enum):
        return item.declaration
    if isinstance(item, header_api.Define):
        tail = "  /* %s */" % item.comment if item.comment else ""
        return "#define %s %s%s" % (item.name, item.value, tail)
    return wrap_declaration(item.declaration)


def join_items(items):
    """Declarations one a line; a blank line around the ones that take several."""
    text = ""
    for i, item in enumerate(items):
        rendered = render_item(item)
        if i:
            several = "\n" in rendered or "\n" in render_item(items[i - 1])
            text += "\n\n" if several or type(item) is not type(items[i - 1]) else "\n"
        text += rendered
    return text


def groups(header):
    """(comment or None, [declarations]) in the header's order."""
    current = None
    for item in header.items:
        if isinstance(item, header_api.Comment):
            if current:
                yield current
            current = (item.text, [])
        elif current is not None and item.doc == current[0]:
            current[1].append(item)  # same comment, or a run of uncommented ones
        else:
            if current:
                yield current
            current = (None, [item])
    if current:
        yield current


def header_page(path, page, version, see_also):
    header = header_api.parse(path)
    functions = header.of(header_api.Function)
    see_also = [name for name in see_also if not name.startswith(page + "(")]
    # The intro's first paragraph ("libgluvirt — what this is") names the
    # page; the rest describes it.
    first_block, _, rest = header.intro.partition("\n\n")
    summary = " ".join(line.strip() for line in first_block.split("\n"))
    summary = re.sub(r"^libgluvirt\s+—\s+", "", summary).rstrip(".")

    out = ['%s(3) "libgluvirt %s" "libgluvirt Manual"' % (page, version), "", "# NAME", ""]
    names = [page] + [f.name for f in functions if f.name != page]
    out += [escape(", ".join(names)) + " - " + escape(summary), ""]
    out += ["# SYNOPSIS", "", "*#include <gluvirt/gluvirt.h>*", ""]
    if functions:
        out += [literal("\n".join(wrap_declaration(f.declaration) for f in functions)
                        .split("\n")), ""]
    out += ["Compile and link with *pkg-config --cflags --libs gluvirt*.", ""]
    if rest.strip():
        out += ["# DESCRIPTION", ""]
        for block in paragraphs(rest):
            out += [block, ""]
    out += ["# TYPES AND FUNCTIONS", ""]
    for comment, items in groups(header):
        if items:
            out += [literal(join_items(items).split("\n")), ""]
        if comment:
            for block in paragraphs(comment):
                out += [block, ""]
    out += ["# SEE ALSO", "", escape(", ".join(see_also + ["gluvirt(1)"])), ""]
    return "\n".join(out)


def command_page(gluvirt, template, version):
    def run(*args):
        done = subprocess.run([gluvirt, *args], capture_output=True, text=True, timeout=60)
        return (done.stdout or done.stderr).rstrip("\n")

    overview = run("--help")
    names = re.findall(r"^  (\S+)\s{2,}", overview.split("commands:", 1)[-1], re.M)
    sections = []
    for name in names:
        sections += ["## gluvirt %s" % name, "", literal(run(name, "--help").split("\n")), ""]
    with open(template, encoding="utf-8") as f:
        text = f.read()
    return text.replace("@COMMANDS@", "\n".join(sections)).replace("@VERSION@", version)


def stub(out, why):
    name, section = os.path.basename(out).rsplit(".", 1)
    with open(out, "w", encoding="utf-8") as f:
        f.write('.TH "%s" "%s"\n.SH NAME\n%s \\- libgluvirt\n.SH DESCRIPTION\n'
                "This page was not built: %s.  The text is in the comments of "
                "<gluvirt/*.h> and in 'gluvirt --help'.\n" % (name, section, name, why))


def to_roff(text, out):
    """scdoc text into the roff file out; a stub page without scdoc."""
    scdoc = shutil.which("scdoc")
    if not scdoc:
        print("make-man.py: warning: scdoc not found: %s is a stub" % out, file=sys.stderr)
        stub(out, "scdoc was not found")
        return
    done = subprocess.run([scdoc], input=text.encode(), capture_output=True)
    if done.returncode != 0:
        sys.exit("make-man.py: scdoc failed on %s: %s" % (out, done.stderr.decode().strip()))
    with open(out + ".tmp", "wb") as f:
        f.write(done.stdout)
    os.replace(out + ".tmp", out)


def function_pages_into(directory, version, sym_path, headers):
    try:
        pages, links = function_pages.all_pages(headers, sym_path, version,
                                                sys.modules[__name__])
    except function_pages.PageError as e:
        sys.exit("make-man.py: %s" % e)
    os.makedirs(directory, exist_ok=True)
    for name, text in pages.items():
        to_roff(text, os.path.join(directory, name))
    for name, target in links.items():
        with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
            f.write(".so man3/%s\n" % target)
    for name in os.listdir(directory):
        if name.endswith(".3") and name not in pages and name not in links:
            os.remove(os.path.join(directory, name))


def main(argv):
    out, version, mode = argv[1], argv[2], argv[3]
    if mode == "functions":
        function_pages_into(out, version, argv[4], argv[5:])
        return
    if mode == "header":
        text = header_page(argv[4], argv[5], version, argv[6:])
    elif mode == "command":
        text = command_page(argv[4], argv[5], version)
    elif mode == "page":
        with open(argv[4], encoding="utf-8") as f:
            text = f.read().replace("@VERSION@", version)
    else:
        sys.exit("make-man.py: unknown mode %s" % mode)
    to_roff(text, out)


if __name__ == "__main__":
    main(sys.argv)
