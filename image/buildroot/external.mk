# BR2_EXTERNAL tree of keeplite: its one package.
include $(sort $(wildcard $(BR2_EXTERNAL_KEEPLITE_PATH)/keeplite/*.mk))
