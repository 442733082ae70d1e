package views

// SettingsNav is the side menu of the profile-area pages: which page it is
// on, and whether Credit Cards are offered (as the user menu decides). Its
// links are written out in the "settings-nav" template; each flag below
// marks the one of the page shown, so the menu costs one written value,
// the page's name, rather than a path and a name per link.
type SettingsNav struct {
	Current      string // the key of the page shown
	CurrentName  string // its name, for the menu's summary on phones
	CardsOffered bool

	Profile, Notifications, Activity, Preferences, Cards bool
}

// settingsNames name the pages of the settings menu by key.
var settingsNames = map[string]string{
	"profile":       "Profile",
	"notifications": "Notifications",
	"activity":      "Security activity",
	"preferences":   "Preferences",
	"cards":         "Credit Cards",
}

// SettingsNav is the settings side menu for the page whose key is current:
// "profile", "notifications", "activity", "preferences" or "cards".
func (p Page) SettingsNav(current string) SettingsNav {
	n := SettingsNav{Current: current, CurrentName: "Settings", CardsOffered: p.CardsOffered,
		Profile: current == "profile", Notifications: current == "notifications", Activity: current == "activity",
		Preferences: current == "preferences", Cards: current == "cards" && p.CardsOffered}
	if name, ok := settingsNames[current]; ok && (current != "cards" || p.CardsOffered) {
		n.CurrentName = name
	}
	return n
}
