# Training data of the shipped denoisers (sourced by the recipes): the mate-backgrounds nature
# photographs and the python3-skimage images that are NOT on the test list of ANCHORS.md
# (camera, astronaut, coffee, chelsea, rocket, motorcycle_left, horse, moon, coins,
# hubble_deep_field, text). motorcycle_right is left out too: it is the stereo partner of the
# test image motorcycle_left.
SK=/usr/lib/python3/dist-packages/skimage/data
DENOISE_DATA=(
  /usr/share/backgrounds/mate/nature
  "$SK/brick.png" "$SK/grass.png" "$SK/gravel.png" "$SK/retina.jpg" "$SK/ihc.png"
  "$SK/cell.png" "$SK/microaneurysms.png" "$SK/page.png"
)
