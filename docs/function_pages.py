"""One section 3 page per exported function, from the public headers.

A function's page is written from the comment that documents it in its
header (the comment above it, or above the type it follows), with the
sections a C programmer looks for: NAME, SYNOPSIS, DESCRIPTION, RETURN
VALUE, ERRORS, VERSION, SEE ALSO.  Functions that one comment documents
together (gluvirt_image_pread and gluvirt_image_preadv) share a page: the
first one's page holds the text, the others are ".so" links to it, as
libnbd's and curl's pages do.

The version comes from the symbol version node that exports the function
(lib/libgluvirt.sym); a "Since X.Y" in the comment that says otherwise, a
documented function that no node exports, or an exported symbol that no
header declares stops the build, so a page can neither be missing nor
state the wrong release.
"""

import os
import re

import header_api

# The convention every call follows (common.h), named on each page.
ERROR_CONVENTION = (
    "On failure the calling thread's error is set: *gluvirt_errno*(3) gives "
    "its errno value and *gluvirt_errmsg*(3) a message that names what failed, "
    "on what, and what to do.")


class PageError(Exception):
    """The headers and the symbol file disagree, or a function lacks text."""


def symbol_versions(sym_path):
    """{symbol: "1.0"} from a linker version script of GLUVIRT_X.Y nodes."""
    with open(sym_path, encoding="utf-8") as f:
        text = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S)
    versions = {}
    for node, body in re.findall(r"GLUVIRT_(\d+\.\d+)\s*\{(.*?)\}", text, re.S):
        body = body.split("local:")[0].replace("global:", " ")
        for name in re.findall(r"([A-Za-z_]\w*)\s*;", body):
            versions[name] = node
    return versions


def only_since(comment):
    return comment is not None and not re.sub(r"Since \d+\.\d+\.?", "", comment).strip()


def function_groups(header):
    """[(comment or None, [items])]: each function with the comment that
    documents it and the declarations that comment covers.  A function
    declared right after a documented type (an enum of keys, a callback
    type), or whose own comment says no more than "Since X.Y", belongs to
    that type's comment."""
    groups = []
    last_own_doc = ()  # the doc of the item before, as the parser found it
    for item in header.items:
        if isinstance(item, header_api.Comment):
            last_own_doc = ()
            continue
        doc = item.doc
        own, last_own_doc = last_own_doc, item.doc
        if groups and own == item.doc:
            groups[-1][1].append(item)  # the same comment as the item before
            continue
        last = groups[-1] if groups else None
        last_is_type = last is not None and not any(
            isinstance(i, header_api.Function) for i in last[1])
        if last_is_type and last[0] is not None and isinstance(item, header_api.Function) \
                and (doc is None or only_since(doc)):
            doc = last[0] + ("\n\n" + item.doc if item.doc else "")
            groups[-1] = (doc, last[1] + [item])
        else:
            groups.append((doc, [item]))
    return [(doc, items) for doc, items in groups
            if any(isinstance(i, header_api.Function) for i in items)]


def sentences(text):
    flat = re.sub(r"\s+", " ", text).strip()
    return [s.strip() for s in re.split(r"(?<![.]e[.]g[.])(?<=[.!?])\s+", flat) if s.strip()]


def summary_of(comment, names):
    """The comment's first sentence, without the "name:" it may start with
    and without its "Since X.Y"."""
    first = sentences(comment.split("\n\n")[0])[0] if comment.strip() else ""
    head, sep, rest = first.partition(": ")
    if sep and (head.split(" ")[0] in names or head.startswith("gluvirt_")):
        first = rest
    first = re.sub(r"\s*Since \d+\.\d+\.?\s*$", "", first).rstrip(".").strip()
    if len(first) > 72 and ";" in first:
        first = first.split(";")[0]
    word = first.split(" ")[0] if first else ""
    if word[:1].isupper() and (len(word) == 1 or not word.isupper()):
        first = first[:1].lower() + first[1:]
    return first


def return_value(comment, functions):
    """What the functions return: the comment's sentences about it, or what
    the library's conventions make certain."""
    said = [s for s in sentences(comment)
            if re.search(r"\b[Rr]eturns?\b|-1\b|\bor NULL\b|, NULL\b", s)
            and not re.match(r"^Accepts NULL", s)]
    said = [re.sub(r"\s*Since \d+\.\d+\.?$", "", s) for s in said]
    said = [s for s in said if s]
    kinds = {f.returns for f in functions}
    if said:
        return " ".join(said)
    if kinds == {"void"}:
        return "None: these calls return no value." if len(functions) > 1 \
            else "None: %s returns no value." % functions[0].name
    if all("_options_set_" in f.name for f in functions) and kinds == {"int"}:
        return ("0 when the option is set, or -1 when the options object is NULL "
                "or the value is refused.")
    return ("What DESCRIPTION says; -1 (for a pointer, NULL) when the call "
            "fails.")


def errors(comment, functions):
    names = []
    for name in re.findall(r"\bE[A-Z]{2,}[A-Z0-9]*\b", comment):
        if name not in names and name not in ("EOF",):
            names.append(name)
    if all("_options_set_" in f.name for f in functions) and "EINVAL" not in names:
        names.append("EINVAL")
    if {f.returns for f in functions} == {"void"} and not names:
        return ["None: nothing is reported."]
    out = []
    if names:
        out.append("Among the errno values the comment above names: %s." % ", ".join(
            "*%s*" % n for n in names))
    out.append(ERROR_CONVENTION)
    return out


def version_of(functions, versions, comment):
    found = {}
    for f in functions:
        if f.name not in versions:
            raise PageError("%s is declared in a public header but exported by no "
                            "node of lib/libgluvirt.sym: add it to the node of the "
                            "release that adds it" % f.name)
        found[f.name] = versions[f.name]
    stated = re.findall(r"Since (\d+\.\d+)", comment)
    if stated:
        newest = max(found.values(), key=lambda v: tuple(int(x) for x in v.split(".")))
        if stated[-1] != newest and stated[-1] not in found.values():
            raise PageError("%s: the header says 'Since %s' but lib/libgluvirt.sym "
                            "exports it in GLUVIRT_%s" % (", ".join(found), stated[-1], newest))
    return found


def page_text(header_page, comment, items, versions, package_version, render):
    """The scdoc text of one page; render is make-man.py's helpers."""
    functions = [i for i in items if isinstance(i, header_api.Function)]
    names = [f.name for f in functions]
    if comment is None:
        raise PageError("%s: no comment documents it in its header: write one "
                        "(what it does, its return value, errors, Since X.Y)"
                        % ", ".join(names))
    found = version_of(functions, versions, comment)
    out = ['%s(3) "libgluvirt %s" "libgluvirt Manual"' % (names[0], package_version), "",
           "# NAME", "",
           render.escape(", ".join(names)) + " - " + render.escape(summary_of(comment, names)),
           "", "# SYNOPSIS", "", "*#include <gluvirt/gluvirt.h>*", "",
           render.literal(render.join_items(items).split("\n")), "",
           "Compile and link with *pkg-config --cflags --libs gluvirt*.", "",
           "# DESCRIPTION", ""]
    for block in render.paragraphs(comment):
        out += [block, ""]
    out += ["# RETURN VALUE", "", render.escape(return_value(comment, functions)), "",
            "# ERRORS", ""]
    for block in errors(comment, functions):
        out += [block.replace("_", "\\_"), ""]
    out += ["# VERSION", ""]
    for name in names:
        out += ["%s first appeared in libgluvirt %s (symbol version GLUVIRT\\_%s)." % (
            render.escape(name), found[name], found[name]), ""]
    see = ["%s(3)" % header_page, "libgluvirt(3)"]
    see += [n + "(3)" for n in ("gluvirt_errmsg", "gluvirt_errno") if n not in names]
    out += ["# SEE ALSO", "", render.escape(", ".join(see)), ""]
    return "\n".join(out)


def header_page_name(path):
    """include/gluvirt/image.h -> gluvirt_image (the overview page)."""
    return "gluvirt_" + os.path.splitext(os.path.basename(path))[0]


def all_pages(header_paths, sym_path, package_version, render):
    """{page file name: scdoc text or None} and {link file name: target}
    for every documented function of the headers; raises PageError when a
    function or an exported symbol has no page."""
    versions = symbol_versions(sym_path)
    pages, links, declared = {}, {}, set()
    for path in sorted(header_paths):
        header = header_api.parse(path)
        for comment, items in function_groups(header):
            functions = [i for i in items if isinstance(i, header_api.Function)]
            declared.update(f.name for f in functions)
            main = functions[0].name + ".3"
            pages[main] = page_text(header_page_name(path), comment, items, versions,
                                    package_version, render)
            for f in functions[1:]:
                links[f.name + ".3"] = main
    missing = sorted(set(versions) - declared)
    if missing:
        raise PageError("exported by lib/libgluvirt.sym but declared in no public header, "
                        "so without a page: %s" % ", ".join(missing))
    return pages, links
