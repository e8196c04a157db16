/**
 * The 1024 words of the short secret codes made by `code.ts`, as in
 * "4071-apple-river-stone".
 *
 * How the list was made: the words were written by hand for this project, as
 * a pool of about 1,600 everyday English words (animals, food, nature, objects
 * in a house, places, simple verbs and adjectives), and not copied from any
 * published word list. The pool was then cut down to 1024 by scripts and by
 * hand: words that break a rule below were dropped, then the least common,
 * hardest to spell and most easily misheard ones, until exactly 1024 were left.
 * Pronunciations from espeak-ng (American and British voices) were compared to
 * find homophones, both within the list and against a dictionary of common
 * words, so that a word heard aloud is spelled one way ("flour", "night",
 * "sail", "write" and the like were dropped). The list is kept in alphabetical
 * order.
 *
 * Rules, checked by `tests/code_test.ts`:
 * - exactly 1024 distinct words, so each word carries 10 bits;
 * - lowercase ASCII letters a-z only, 3 to 7 letters each;
 * - common, easy to spell and to say, nothing offensive;
 * - no two words are homophones, and none is another's plural with "s";
 * - no word is a prefix of another word in the list, so a word can be
 *   completed as soon as it is unambiguous and a typo check never confuses
 *   a word with the start of a longer one.
 *
 * Changing the list changes which codes exist: a code made with one list
 * cannot be typed into a program that has another, so keep it stable.
 *
 * @module
 */

const TEXT = `
acorn actor agent agile airport alarm album alert alley almond alpaca amber
amuse anchor angle answer apple apricot apron arch arena arrive arrow ash
atlas attic avenue azure bacon badger bagel baker ballet balloon bamboo banana
banjo banner bark barn barrel basil basket bat bay beach beagle bean beetle
bell belt bench birch bird biscuit bison blanket blaze blender blink bloom
blossom blouse blush boast bobcat bold bolt bonfire boot borrow bottle bounce
bowl box brain branch brave bread breeze brick bridge bright brisk bronze
brook broom broth brownie brush bubble bucket buffalo build bulb bull bumpy
bunny burger busy butter button cabbage cabin cable cactus cake calf calm
camel camera canal canary candle candy canoe canvas canyon cape captain
caramel cargo carpet carrot carry carton cartoon castle cat cave cedar celery
cello chair chalk chapel chase cheery cheese cheetah chef cherry chess chicken
chimney chip chorus cinema circle circus city clam clap classic clay clean
clever cliff climb cloak clock closet cloud clover clumsy coach coast cobra
cocoa coconut coffee coin colt comb comedy comet compass concert cone cookie
cool copper coral corn costume cottage cotton cousin cow coyote crab cradle
crane crate crawl crayon cream credit cricket crisp crown crunchy crust
crystal cube cuddle cup curly curry curtain cushion daisy dance dart dash dawn
dentist desk diamond dig dinner disco dish dive dizzy dock doctor dog dolphin
dome donkey doodle door dot dove dozen dragon drama drawer dream drift drill
drum duck dune dusk dust eager eagle early echo editor egg elbow elk ember
emerald empire emu energy engine eraser evening explore fable fabric factory
falcon family famous fancy farm fawn feather fence fern ferret fetch fiddle
field finch finger fire flag flame flat flight float fluffy flute flutter fly
foam fog fold fond forest fork fort fossil fox frame frank fresh friend frog
frost fudge funnel fuzzy galaxy gallop game garage garden garlic gather
gazelle gem gentle ghost giant gift giggle ginger giraffe glacier glad glass
glen glide glitter globe glove glow glue goat gobble goblin goggles golden
golf goose gopher gorilla grain grand granite granola grape grass gravel
gravity gravy green grin grove grow guest guitar gulf gust halo hammer hammock
hamster handy happy harmony harp harvest hasty hat haven hawk hazel hedge
helmet herb heron hike hill hippo hive hobby hockey holiday hollow honest
honey hook hop horizon hornet horse hose hotel hound house hover howl hug
humble hurry husky hut iceberg icon idea igloo insect invent iris iron island
ivory ivy jacket jade jaguar jam jar jazzy jelly jet jewel jigsaw jingle joke
jolly journey judge judo juggle juice jumbo jump jungle kale karate kayak keen
kettle key kick kind king kitchen kite kitten kiwi knee knit knock koala label
ladder lagoon lake lamb lamp lane lantern laptop lark laser laugh lava lawn
leaf leap legend lemon lens letter lettuce level library lift light lily lime
lion liquid listen lively lizard llama loaf lobby lobster lock lodge logic
loon lotus loud loyal lucky lumber lunar lunch lush machine magic magnet
magpie mailbox mammoth mango marble march marker market mask meadow meal
mellow melody melon memory merry message metal meteor middle mighty mild milk
mint mirror mission mist mitten mix mocha model modern mole moment monkey
monster moon moose moss motel moth motor mouse mud muffin mug mule mumble
museum music mustang mustard mystery nail napkin narrow nature neat nebula
needle nest net nickel nimble noble nod noodle noon notepad number nurse nutty
oak oasis oat ocean octopus odd office olive onion opal opera orange orbit
orca orchard orchid ostrich otter outfit oven owl oxygen oyster paddle paint
palace palm pancake panda panther pantry papaya paper parade parent park
parrot parsley party pasta pastry patch path patio pattern peach peacock
peanut pearl pebble pelican pencil penguin people pepper perch pesto petal
piano pickle picnic pigeon piglet pike pillow pilot pine pipe pirate pitch
pixel pizza planet plate play plaza plum pocket poem poet polar police polite
pond pony poodle popcorn poppy porch portal possum poster potato pottery
powder prairie prawn pretzel prince prize proud pudding puffin puma pumpkin
puppet puppy purple puzzle python quail quartz queen quest quick quiet quilt
quiz rabbit race radar radio radish raft rainbow rainy raisin rake ramp ranch
rattle raven razor record reef relax relay remote rescue rhino ribbon rice
rich riddle ride ring river roam robe robin robot rocket rocky rodeo rooster
rope rosy royal ruby rugby rugged ruler run rusty saddle safari sage salad
salmon salsa salt sample sandal sandy sardine sauce sausage scale scarf
scarlet school science scone scoop scooter scout scroll seagull seal season
seaweed secret seed shadow shark sharp sheep shelf shell shield shiny shirt
shoe shore shovel shrimp signal silent silk silly silver simple sing siren
skate sketch skip skunk sky slate sleep sleeve slide slipper sloth smile smoke
smooth snail snake sneeze snore snorkel snow snug soccer sock soda sofa soft
soil solar solid soup sour spark sparrow spicy spider spinach spiral spirit
splash sponge spoon spring sprint sprout squash squid stable stadium stamp
stapler star station statue steady stew sticker stone stool store stork storm
stove straw stream street string stripe stroll studio sturdy sugar summer
summit sunbeam sundial sunny sunrise sunset super sushi swamp swan sweater
swift swim swing swoop syrup tabby table taco tadpole talent talk tall tango
target tasty teacher teacup teapot temple tender tennis tent terrier thick
thin thistle throw thunder ticket tickle tidy tiger tile tiny tiptoe title
toad toaster toffee tofu tomato topic torch tornado toucan towel tower town
toy tractor trail travel tray tree trick trophy trot trout truffle trumpet
trunk tuba tugboat tulip tumble tuna tundra tunnel turkey turnip turtle twig
twin twirl uncle unicorn uniform unit urchin valley vanilla vase vast vault
velvet vest victory video village vinegar violet violin viper visit vivid
volcano volume voyage vulture waddle wafer waffle wagon wallet walnut walrus
wander warm wasp watch wave weasel wheat wheel whirl whisk whisper whistle
wiggle wild willow window windy wink winter wire wise witty wizard wobble wolf
wombat wonder wool worm yak yard yarn yawn yeast yellow yoga young zebra zinc
zipper zippy zone zoom
`;

/** The code words: 1024 distinct lowercase words, in alphabetical order. */
export const WORDS: readonly string[] = Object.freeze(TEXT.trim().split(/\s+/));
