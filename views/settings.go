package views

// SettingsNav is the side menu of the profile-area pages: which page it is
// on, and whether Credit Cards are offered (as the user menu decides).
type SettingsNav struct {
	Current      string // the key of the page shown
	CardsOffered bool
}

// SettingsEntry is one link of the settings side menu.
type SettingsEntry struct {
	Key, Name, Path string
	Current         bool
}

// SettingsNav is the settings side menu for the page whose key is current:
// "profile", "notifications", "activity", "preferences" or "cards".
func (p Page) SettingsNav(current string) SettingsNav {
	return SettingsNav{Current: current, CardsOffered: p.CardsOffered}
}

// Entries are the menu's links in order; Credit Cards only when offered.
func (n SettingsNav) Entries() []SettingsEntry {
	all := []SettingsEntry{
		{Key: "profile", Name: "Profile", Path: "/profile"},
		{Key: "notifications", Name: "Notifications", Path: "/profile/notifications"},
		{Key: "activity", Name: "Security activity", Path: "/profile/activity"},
		{Key: "preferences", Name: "Preferences", Path: "/preferences"},
	}
	if n.CardsOffered {
		all = append(all, SettingsEntry{Key: "cards", Name: "Credit Cards", Path: "/cards"})
	}
	for i := range all {
		all[i].Current = all[i].Key == n.Current
	}
	return all
}

// CurrentName names the page shown, for the menu's summary on phones.
func (n SettingsNav) CurrentName() string {
	for _, e := range n.Entries() {
		if e.Current {
			return e.Name
		}
	}
	return "Settings"
}
