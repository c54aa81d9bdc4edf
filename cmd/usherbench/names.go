package main

// The name lists are constant data, read-only package tables: first and
// last names of several languages, some with letters outside ASCII, as a
// real user base has them, and the domains of their addresses.
var (
	firstNames = []string{
		"Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Isabel", "Jack",
		"Karen", "Liam", "Maria", "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Samuel", "Tara",
		"Ursula", "Victor", "Wendy", "Xavier", "Yara", "Zoë", "José", "Łukasz", "Søren", "Chloé",
		"Mehmet", "Aisha", "Hiroshi", "Mei", "Priya", "Arjun", "Fatima", "Omar", "Ingrid", "Lars",
		"Sofia", "Mateo", "Lucía", "Hugo", "Anna", "Jonas", "Elif", "Nikolai", "Katarzyna", "Pedro",
		"Giulia", "Marco", "Amélie", "Théo", "Björn", "Astrid", "Kwame", "Ngozi", "Chen", "Wei",
		"Daniel", "Sarah", "Michael", "Laura", "James", "Emily", "Thomas", "Hannah", "Lucas", "Mia",
	}
	lastNames = []string{
		"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
		"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
		"Lee", "Perez", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young",
		"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Dubois", "Lefèvre", "Rossi", "Bianchi", "Kowalski",
		"Nowak", "Wiśniewski", "Jensen", "Nielsen", "Hansen", "Andersson", "Johansson", "Yılmaz", "Kaya", "Demir",
		"Tanaka", "Suzuki", "Watanabe", "Wang", "Li", "Zhang", "Liu", "Kumar", "Singh", "Patel",
		"Okafor", "Mensah", "Silva", "Santos", "Oliveira", "Pereira", "Ivanov", "Petrov", "O'Brien", "Murphy",
	}
	domains = []string{
		"example.com", "example.org", "example.net", "mail.example.com", "corp.example",
		"users.example.io", "acme.example", "globex.example", "initech.example", "hooli.example",
	}

	// folds spells the accented letters of the name lists in ASCII.
	folds = map[rune]string{
		'á': "a", 'à': "a", 'ä': "ae", 'å': "a", 'ã': "a", 'ç': "c", 'é': "e", 'è': "e", 'ë': "e", 'í': "i",
		'ï': "i", 'ł': "l", 'ñ': "n", 'ó': "o", 'ö': "oe", 'ø': "o", 'ş': "s", 'ú': "u", 'ü': "ue", 'ž': "z",
		'ć': "c", 'ś': "s", 'ğ': "g", 'ı': "i",
	}
)
