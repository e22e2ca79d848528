#!/bin/sh
# A test agent that uses the bundled alice-message skill: it makes a 1x1 PNG
# and sends it, then a text file, to the conversation it was started for.
set -eu
cat > /dev/null
printf '\211\120\116\107\015\012\032\012\000\000\000\015\111\110\104\122\000\000\000\001\000\000\000\001\010\002\000\000\000\220\167\123\336\000\000\000\014\111\104\101\124\170\234\143\370\317\300\000\000\003\001\001\000\311\376\222\357\000\000\000\000\111\105\116\104\256\102\140\202' > pic.png
sh skills/alice-message/scripts/send_image.sh pic.png "made by the agent"
printf 'quarterly numbers\n' > report.txt
sh skills/alice-message/scripts/send_file.sh report.txt "the report" "Q3 report.txt"
