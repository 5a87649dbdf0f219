"""The custom resource's lifecycle: crhelper, Create / Update / Delete, the hand-off."""
