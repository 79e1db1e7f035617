"""Find anything: RMAs by number, units by serial, customers, sites, cities and parts
by their Chinese or English names, pinyin or initials, from one box in the header."""
