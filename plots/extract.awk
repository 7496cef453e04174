# extract.awk: prints the named columns (space separated, spaces in values become '_') of the
# CSV rows whose column matches `filter` (name=value). "series" is a derived column:
# heap, or phys-virt-heap when all three are set. Handles RFC 4180 quoted fields.
function parse(line, out,    n, i, c, f, q) {
	n = 0; f = ""; q = 0
	for (i = 1; i <= length(line); i++) {
		c = substr(line, i, 1)
		if (q) {
			if (c == "\"" && substr(line, i + 1, 1) == "\"") { f = f c; i++ }
			else if (c == "\"") q = 0
			else f = f c
		} else if (c == "\"") q = 1
		else if (c == ",") { out[++n] = f; f = "" }
		else f = f c
	}
	out[++n] = f
	return n
}
BEGIN { split(filter, fv, "="); ncols = split(cols, want, " ") }
NR == 1 { n = parse($0, hdr); for (i = 1; i <= n; i++) idx[hdr[i]] = i; next }
{
	sub(/\r$/, "")
	parse($0, v)
	if (!(fv[1] in idx) || v[idx[fv[1]]] != fv[2]) next
	line = ""
	for (j = 1; j <= ncols; j++) {
		c = want[j]
		if (c == "series") x = (v[idx["phys"]] != "" && v[idx["virt"]] != "") ? v[idx["phys"]] "-" v[idx["virt"]] "-" v[idx["heap"]] : v[idx["heap"]]
		else x = (c in idx) ? v[idx[c]] : ""
		if (x == "") { line = ""; break }
		gsub(/ /, "_", x)
		line = line (j > 1 ? " " : "") x
	}
	if (line != "") print line
}
