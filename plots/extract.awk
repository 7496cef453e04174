# extract.awk: prints the named columns (space separated, spaces in values become '_') of the
# CSV rows whose columns match `filter` (name=value[,name=value...], all must hold).
# Derived columns: "series" = phys-virt-heap when all three are set, else heap; "wl" =
# trace (without .trc/.vmt/.xz) or workload. A column "a:b:=x" is the first of a, b that
# is set (not empty, not null), else the literal x (e.g. an interval bound that falls back
# to the median when the row has one repetition: lat_p99_ns_ci_lo:lat_p99_ns). With
# -v first=K only the first row of each distinct value of the first K columns is printed.
# Handles RFC 4180 quoted fields.
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
BEGIN {
	nf = split(filter, fl, ",")
	for (i = 1; i <= nf; i++) { split(fl[i], kv, "="); fk[i] = kv[1]; fw[i] = kv[2] }
	ncols = split(cols, want, " ")
}
function pick(spec, v,    alt, n, i, x) {
	n = split(spec, alt, ":")
	for (i = 1; i <= n; i++) {
		if (substr(alt[i], 1, 1) == "=") return substr(alt[i], 2)
		x = get(alt[i], v)
		if (x != "" && x != "null") return x
	}
	return ""
}
function get(c, v,    x) {
	if (c == "series")
		return (v[idx["phys"]] != "" && v[idx["phys"]] != "-" && v[idx["virt"]] != "") ? v[idx["phys"]] "-" v[idx["virt"]] "-" v[idx["heap"]] : v[idx["heap"]]
	if (c == "wl") {
		x = ("trace" in idx) ? v[idx["trace"]] : ""
		if (x == "" && ("workload" in idx)) x = v[idx["workload"]]
		sub(/\.xz$/, "", x); sub(/\.(trc|mtb|rep|vmt)$/, "", x)
		return x
	}
	return (c in idx) ? v[idx[c]] : ""
}
NR == 1 { n = parse($0, hdr); for (i = 1; i <= n; i++) idx[hdr[i]] = i; next }
{
	sub(/\r$/, "")
	parse($0, v)
	for (i = 1; i <= nf; i++)
		if (get(fk[i], v) != fw[i]) next
	line = key = ""
	for (j = 1; j <= ncols; j++) {
		x = pick(want[j], v)
		if (x == "" || x == "null") { line = ""; break }
		gsub(/ /, "_", x)
		line = line (j > 1 ? " " : "") x
		if (j <= first) key = key SUBSEP x
	}
	if (line == "" || (first && seen[key]++)) next
	print line
}
